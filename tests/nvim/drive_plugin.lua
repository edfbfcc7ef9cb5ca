-- Drives the phasegate Neovim plugin (editors/nvim) from a real, headless Neovim:
-- setup(), the FileType autocommand starts the server for the file's project, a
-- phasegate diagnostic arrives, :PhasegateStatus answers, and :checkhealth phasegate
-- reports. Environment: PG_PYTHON, PG_ROOT, PG_OUT, PG_PLUGIN (editors/nvim), PG_TRUST.
local python, root, out = vim.env.PG_PYTHON, vim.env.PG_ROOT, vim.env.PG_OUT
local lines = {}
local function log(msg) table.insert(lines, msg) end
local function finish(ok)
  log(ok and "RESULT ok" or "RESULT fail")
  vim.fn.writefile(lines, out)
  if ok then vim.cmd("qall!") else vim.cmd("cquit 1") end
end

local ok, err = pcall(function()
  vim.opt.runtimepath:append(vim.env.PG_PLUGIN)
  local pg = require("phasegate")
  pg.setup({
    cmd = { python, "-m", "phasegate", "serve" },
    trusted_roots = vim.env.PG_TRUST == "1" and { root } or {},
    settings = { watch = "off" },
  })
  vim.cmd("filetype on") -- as in any user's Neovim (-u NONE leaves it off)
  vim.cmd("edit") -- FileType again, now that the autocommand exists
  log("filetype " .. vim.bo.filetype)
  local bufnr = vim.api.nvim_get_current_buf()
  local function ours()
    local found = {}
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.source == "phasegate" then table.insert(found, d) end
    end
    return found
  end
  assert(vim.wait(60000, function() return #ours() > 0 end, 50), "no phasegate diagnostic")
  for _, d in ipairs(ours()) do log("diagnostic " .. tostring(d.code) .. " line " .. d.lnum) end
  log("root " .. pg.root_for(bufnr))
  local client = vim.lsp.get_client_by_id(pg.clients[pg.root_for(bufnr)])
  log("trusted " .. tostring(client.config.init_options.trusted))

  local notified = {}
  vim.notify = function(msg) table.insert(notified, msg) end
  vim.cmd("PhasegateStatus")
  assert(vim.wait(30000, function() return #notified > 0 end, 50), "no status")
  log("status " .. notified[1])

  vim.cmd("checkhealth phasegate")
  for _, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do log("health " .. l) end
end)
if not ok then log("error " .. tostring(err)) end
finish(ok)
