-- Drives phasegate from a real Neovim (0.7 API), headless:
-- open a file, wait for a phasegate diagnostic, ask for code actions, apply the
-- "Apply fix" edit, save, and wait for that diagnostic to go away.
-- Environment: PG_PYTHON (python running `-m phasegate serve`), PG_ROOT (workspace),
-- PG_OUT (result file), PG_CODE (the check id to fix).
local python, root, out, code = vim.env.PG_PYTHON, vim.env.PG_ROOT, vim.env.PG_OUT, vim.env.PG_CODE
local lines = {}
local function log(msg) table.insert(lines, msg) end
local function finish(ok)
  log(ok and "RESULT ok" or "RESULT fail")
  vim.fn.writefile(lines, out)
  if ok then vim.cmd("qall!") else vim.cmd("cquit 1") end
end

local ok, err = pcall(function()
  local bufnr = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({
    name = "phasegate",
    cmd = { python, "-m", "phasegate", "serve" },
    root_dir = root,
    init_options = { trusted = true, settings = { watch = "off" } },
  })
  assert(id, "the client did not start")
  vim.lsp.buf_attach_client(bufnr, id)
  local client = vim.lsp.get_client_by_id(id)

  local function ours()
    local found = {}
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.source == "phasegate" and d.code == code then table.insert(found, d) end
    end
    return found
  end

  assert(vim.wait(30000, function() return #ours() > 0 end, 50), "no " .. code .. " diagnostic")
  local before = #ours()
  local diag = ours()[1]
  log("diagnostic " .. diag.code .. " line " .. diag.lnum .. ": " .. diag.message)
  local lsp_diag = diag.user_data and diag.user_data.lsp or {}
  assert(lsp_diag.data and lsp_diag.data.findingId, "the diagnostic carries no data")
  log("data.check " .. lsp_diag.data.check .. " phase " .. lsp_diag.data.phase)

  local params = vim.lsp.util.make_range_params()
  params.range = {
    start = { line = diag.lnum, character = 0 },
    ["end"] = { line = diag.lnum, character = 0 },
  }
  params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, diag.lnum) }
  local resp = client.request_sync("textDocument/codeAction", params, 10000, bufnr)
  assert(resp and not resp.err, "codeAction failed: " .. vim.inspect(resp and resp.err))
  local action
  for _, a in ipairs(resp.result or {}) do
    log("action " .. a.title)
    if not action and a.title:find("^Apply fix: ") then action = a end
  end
  assert(action and action.edit, "no Apply fix action")
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  vim.cmd("silent write")
  log("saved")
  assert(vim.wait(30000, function() return #ours() < before end, 50), "the diagnostic stayed")
  log("diagnostics " .. code .. ": " .. before .. " -> " .. #ours())
  vim.lsp.stop_client(id)
end)
if not ok then log("error: " .. tostring(err)) end
finish(ok)
