-- phasegate for Neovim: starts `phasegate serve` for the buffers of a project, one
-- client per project root, and adds a few user commands. Works on Neovim 0.7 and later.
--
--   require("phasegate").setup({
--     trusted_roots = { "~/src/my-project" },  -- run tests and personas only here
--   })
--
-- `:checkhealth phasegate` says whether the server can start and whether the current
-- buffer's project is trusted. See docs/editors.md (Neovim).
local M = {}

M.defaults = {
  -- The language server's command; `python -m phasegate serve` works too.
  cmd = { "phasegate", "serve" },
  filetypes = { "markdown", "python", "toml", "yaml", "dockerfile", "json" },
  -- The first folder upward holding one of these is the project root.
  root_markers = { "phasegate.toml", "pyproject.toml", ".git" },
  -- Projects (and their subfolders) where checks and personas that run the project's
  -- own code (tests, coverage, configured commands, coding agents) may run. Anywhere
  -- else only the in-process checks run, as in an untrusted VS Code workspace.
  trusted_roots = {},
  -- The server's settings (initializationOptions.settings), e.g. { watch = "off" }.
  settings = {},
}

M.config = vim.deepcopy(M.defaults)
M.clients = {} -- root -> client id

local function normalize(path)
  local full = vim.fn.fnamemodify(vim.fn.expand(path), ":p")
  return (full:gsub("/+$", ""))
end

--- The project root of `bufnr` (nil for a buffer without a file).
function M.root_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return nil
  end
  local dir = vim.fn.fnamemodify(name, ":p:h")
  local found = vim.fs and vim.fs.find and vim.fs.find(M.config.root_markers, { upward = true, path = dir })[1]
  if not found then
    for _, marker in ipairs(M.config.root_markers) do
      local hit = vim.fn.findfile(marker, dir .. ";")
      if hit == "" then
        hit = vim.fn.finddir(marker, dir .. ";")
      end
      if hit ~= "" then
        found = vim.fn.fnamemodify(hit, ":p")
        break
      end
    end
  end
  if not found then
    return dir
  end
  return vim.fn.fnamemodify(normalize(found), ":h")
end

--- Whether `root` is one of the trusted roots or inside one.
function M.is_trusted(root)
  if not root then
    return false
  end
  root = normalize(root)
  for _, t in ipairs(M.config.trusted_roots) do
    local base = normalize(t)
    if root == base or root:sub(1, #base + 1) == base .. "/" then
      return true
    end
  end
  return false
end

--- Start (or reuse) the client of `bufnr`'s project and attach the buffer.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local root = M.root_for(bufnr)
  if not root then
    return nil
  end
  local id = M.clients[root]
  if id and not vim.lsp.get_client_by_id(id) then
    id = nil
  end
  if not id then
    id = vim.lsp.start_client({
      name = "phasegate",
      cmd = M.config.cmd,
      root_dir = root,
      workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
      init_options = { trusted = M.is_trusted(root), settings = M.config.settings },
    })
    if not id then
      vim.notify("phasegate: the language server did not start (:checkhealth phasegate)", vim.log.levels.ERROR)
      return nil
    end
    M.clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  M.last_buf = bufnr
  return id
end

local function client_for(bufnr)
  local root = M.root_for(bufnr or vim.api.nvim_get_current_buf())
  local id = root and M.clients[root]
  return id and vim.lsp.get_client_by_id(id) or nil
end

--- Run a server command (`phasegate.status`, `phasegate.startSession`, …) and show its answer.
function M.command(name, arg, on_result)
  local client = client_for()
  if not client then
    vim.notify("phasegate: no server for this buffer", vim.log.levels.WARN)
    return
  end
  client.request("workspace/executeCommand", { command = name, arguments = { arg or vim.empty_dict() } },
    function(err, result)
      if err then
        vim.notify("phasegate: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      elseif on_result then
        on_result(result)
      end
    end)
end

local function summary(status)
  local parts = {}
  for _, p in ipairs((status or {}).phases or {}) do
    local score = p.score and string.format("%.2f", p.score) or "–"
    local threshold = p.threshold and string.format("%.2f", p.threshold) or "–"
    table.insert(parts, string.format("%s %s/%s %s", p.name, score, threshold, p.status or ""))
  end
  return "phasegate: " .. table.concat(parts, " · ")
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local group = vim.api.nvim_create_augroup("phasegate", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  vim.api.nvim_create_user_command("PhasegateStatus", function()
    M.command("phasegate.status", nil, function(r) vim.notify(summary(r)) end)
  end, { desc = "phasegate: each phase's score, threshold and status" })
  vim.api.nvim_create_user_command("PhasegateValidate", function(c)
    local arg = c.args ~= "" and { phase = c.args } or nil
    M.command("phasegate.validate", arg, function(r) vim.notify(summary(r)) end)
  end, { nargs = "?", desc = "phasegate: score the gates (or one phase's)" })
  vim.api.nvim_create_user_command("PhasegateStartSession", function(c)
    M.command("phasegate.startSession", { requirement = c.args }, function(r) vim.notify(summary(r)) end)
  end, { nargs = "+", desc = "phasegate: drive a requirement through the phases" })
end

return M
