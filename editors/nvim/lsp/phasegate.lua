-- phasegate for Neovim 0.11's `vim.lsp.config` (the layout nvim-lspconfig uses):
-- put this folder on 'runtimepath', then `vim.lsp.enable("phasegate")`. It runs untrusted
-- (only the in-process checks); set `init_options.trusted = true` for your own projects:
--   vim.lsp.config("phasegate", { init_options = { trusted = true } })
return {
  cmd = { "phasegate", "serve" },
  filetypes = { "markdown", "python", "toml", "yaml", "dockerfile", "json" },
  root_markers = { "phasegate.toml", "pyproject.toml", ".git" },
  init_options = { trusted = false },
}
