-- Drives a headless Neovim whose init.lua is a set-up copied from docs/editors.md: opens a
-- file, waits for empathy's diagnostics, asks for hover and code actions on line 1, and
-- writes what the editor got as JSON. Written for Neovim 0.7 (no vim.fs, no vim.lsp.start).
local env = vim.env
vim.cmd("edit " .. vim.fn.fnameescape(env.EMPATHY_TEST_FILE))
local ok = vim.wait(120000, function()
  return #vim.diagnostic.get(0) > 0
end, 50)

local diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  local raw = d.user_data and d.user_data.lsp or {}
  table.insert(diagnostics, { code = d.code or raw.code, source = d.source, lnum = d.lnum, message = d.message })
end
-- what vim.lsp.buf.code_action() sends on 0.7: line 1's diagnostics back in LSP form
local lsp_diagnostics = vim.lsp.diagnostic.get_line_diagnostics(0, 0)

local uri = vim.uri_from_bufnr(0)
local position = { line = 0, character = 0 }
local hover_text = ""
local hovers = vim.lsp.buf_request_sync(0, "textDocument/hover", { textDocument = { uri = uri }, position = position }, 20000)
for _, answer in pairs(hovers or {}) do
  local contents = answer.result and answer.result.contents
  if type(contents) == "table" then hover_text = hover_text .. (contents.value or vim.fn.json_encode(contents)) end
  if type(contents) == "string" then hover_text = hover_text .. contents end
end

local titles = {}
local actions = vim.lsp.buf_request_sync(0, "textDocument/codeAction", {
  textDocument = { uri = uri },
  range = { start = position, ["end"] = position },
  context = { diagnostics = lsp_diagnostics },
}, 20000)
for _, answer in pairs(actions or {}) do
  for _, action in ipairs(answer.result or {}) do table.insert(titles, action.title) end
end

local clients = {}
for _, client in pairs(vim.lsp.get_active_clients()) do
  table.insert(clients, { name = client.name, root = client.config.root_dir })
end
local fh = io.open(env.EMPATHY_TEST_OUT, "w")
fh:write(vim.fn.json_encode({
  ok = ok, diagnostics = diagnostics, hover = hover_text, actions = titles, clients = clients, uri = uri,
}))
fh:close()
vim.lsp.stop_client(vim.lsp.get_active_clients())
vim.wait(3000, function() return #vim.lsp.get_active_clients() == 0 end, 50)
vim.cmd("qa!")
