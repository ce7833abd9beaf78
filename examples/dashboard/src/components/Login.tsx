import { useId, useState } from "react"
import { ApiFailure, makeClient, type CreatedToken, type TenantList } from "../api.js"
import { useStore } from "../store.js"

/**
 * Login with a tenant token, or with the admin token and a tenant picker (the dashboard then
 * issues itself a tenant token labelled `dashboard`). Tokens stay in memory and sessionStorage.
 */
export const Login = () => {
  const login = useStore((s) => s.login)
  const loginError = useStore((s) => s.loginError)
  const [token, setToken] = useState("")
  const [busy, setBusy] = useState(false)
  const [admin, setAdmin] = useState<{ token: string; tenants: TenantList["tenants"] } | null>(null)
  const [tenantId, setTenantId] = useState("")
  const [error, setError] = useState<string | null>(null)
  const tokenId = useId()
  const tenantSelectId = useId()

  const submit = async (e: React.FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await login(token)
    } catch (failure) {
      if (failure instanceof ApiFailure && failure.status === 401) {
        // Not a tenant token: perhaps the operator's admin token.
        try {
          const { tenants } = await makeClient(token.trim()).get<TenantList>("/api/admin/tenants")
          setAdmin({ token: token.trim(), tenants })
          setTenantId(tenants[0]?.id ?? "")
          useStore.setState({ loginError: null })
        } catch {
          setError("Neither a tenant token nor the admin token.")
        }
      }
    } finally {
      setBusy(false)
    }
  }

  const pick = async (e: React.FormEvent) => {
    e.preventDefault()
    if (admin === null || tenantId === "") return
    setBusy(true)
    try {
      const created = await makeClient(admin.token).send<CreatedToken>("POST", `/api/admin/tenants/${encodeURIComponent(tenantId)}/tokens`, { label: "dashboard" })
      await login(created.token)
    } catch (failure) {
      setError(`Could not open the tenant: ${failure instanceof Error ? failure.message : String(failure)}`)
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="login" id="main">
      <h1>spotfleet dashboard</h1>
      {admin === null
        ? (
          <form onSubmit={submit} aria-describedby="login-help">
            <label htmlFor={tokenId}>API token</label>
            <input id={tokenId} name="token" type="password" autoComplete="off" required value={token}
              onChange={(e) => setToken(e.target.value)} data-testid="token-input" />
            <p id="login-help" className="muted">A tenant API token, or the server's admin token to choose a tenant. It is kept for this browser tab only.</p>
            <button type="submit" disabled={busy}>{busy ? "Checking…" : "Log in"}</button>
          </form>
        )
        : (
          <form onSubmit={pick}>
            <label htmlFor={tenantSelectId}>Tenant</label>
            <select id={tenantSelectId} value={tenantId} onChange={(e) => setTenantId(e.target.value)} data-testid="tenant-picker">
              {admin.tenants.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </select>
            <p className="muted">Signed in as operator. Opening a tenant issues a dashboard token for it.</p>
            <div className="row">
              <button type="submit" disabled={busy || tenantId === ""}>Open tenant</button>
              <button type="button" className="ghost" onClick={() => setAdmin(null)}>Back</button>
            </div>
          </form>
        )}
      {(error ?? loginError) !== null && <p role="alert" className="error">{error ?? loginError}</p>}
    </main>
  )
}
