-- `:checkhealth phasegate`: can the server start, and what does the current buffer get?
local M = {}

local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

function M.check()
  local pg = require("phasegate")
  start("phasegate language server")
  local cmd = pg.config.cmd
  if vim.fn.executable(cmd[1]) ~= 1 then
    error(cmd[1] .. " is not executable (is phasegate installed? `pip install phasegate`, or set cmd)")
    return
  end
  ok("command: " .. table.concat(cmd, " "))
  local version_cmd = vim.deepcopy(cmd)
  version_cmd[#version_cmd] = "--version" -- `phasegate serve` -> `phasegate --version`
  local out = vim.fn.system(version_cmd)
  if vim.v.shell_error ~= 0 then
    error("`" .. table.concat(version_cmd, " ") .. "` failed: " .. out)
    return
  end
  ok("version: " .. vim.trim(out))

  start("phasegate in this buffer")
  -- :checkhealth shows its report in a buffer of its own: judge the buffer the user
  -- came from (the alternate one), else the last one phasegate attached
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.api.nvim_buf_get_name(bufnr) == "" or vim.bo[bufnr].buftype ~= "" then
    local alt = vim.fn.bufnr("#")
    if alt > 0 and vim.api.nvim_buf_get_name(alt) ~= "" and vim.bo[alt].buftype == "" then
      bufnr = alt
    elseif pg.last_buf and vim.api.nvim_buf_is_valid(pg.last_buf) then
      bufnr = pg.last_buf
    end
  end
  info("buffer: " .. vim.api.nvim_buf_get_name(bufnr))
  local root = pg.root_for(bufnr)
  if not root then
    info("the current buffer has no file")
    return
  end
  info("project root: " .. root)
  if pg.is_trusted(root) then
    ok("trusted: tests, coverage, configured commands and personas may run")
  else
    warn("not trusted: only the in-process checks run (add the root to trusted_roots)")
  end
  local id = pg.clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if client then
    ok("client " .. id .. " is running for this root")
  else
    info("no client for this root yet (it starts when a " .. table.concat(pg.config.filetypes, "/") .. " buffer opens)")
  end
end

return M
