-- Headless Neovim attached to `empathy lsp`: open a file, wait for diagnostics, write them as JSON.
-- Written for Debian's neovim (0.7): vim.lsp.start_client + buf_attach_client (vim.lsp.start is 0.8+).
local env = vim.env
vim.cmd("edit " .. vim.fn.fnameescape(env.EMPATHY_TEST_FILE))
local client_id = vim.lsp.start_client({
  name = "empathy",
  cmd = { env.EMPATHY_TEST_PYTHON, "-m", "empathy", "lsp" },
  root_dir = env.EMPATHY_TEST_ROOT,
  settings = { empathy = { debounceMs = 0 } },
})
vim.lsp.buf_attach_client(0, client_id)
local ok = vim.wait(90000, function()
  return #vim.diagnostic.get(0) > 0
end, 50)
local out = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  local code = d.code
  if code == nil and d.user_data and d.user_data.lsp then
    code = d.user_data.lsp.code
  end
  table.insert(out, { code = code, source = d.source, lnum = d.lnum, message = d.message })
end
local fh = io.open(env.EMPATHY_TEST_OUT, "w")
fh:write(vim.fn.json_encode({ ok = ok, diagnostics = out }))
fh:close()
vim.lsp.stop_client(client_id)
vim.wait(2000, function()
  return vim.lsp.get_client_by_id(client_id) == nil
end, 50)
vim.cmd("qa!")
