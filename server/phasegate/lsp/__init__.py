"""The phasegate language server (see :mod:`phasegate.lsp.server`)."""
