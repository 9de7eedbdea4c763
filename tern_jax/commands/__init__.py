"""Subcommands of the ``tern-jax`` CLI, one module each (see ``tern_jax.cli``)."""
