import { useState, type FormEvent } from "react";
import { api } from "../api/client";

// Staff sign-in. The gateway sets the session cookie on success; a wrong email or
// password and a rate limit are told apart, in words.
export function SignIn({ reason, onSignedIn }: { reason?: string; onSignedIn: () => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { response, error: body } = await api.POST("/v1/auth/login", { body: { email, password } });
      if (response.ok) return onSignedIn();
      if (response.status === 401 || response.status === 404) setError("That email and password do not match.");
      else if (response.status === 429) setError("Too many attempts. Wait a minute and try again.");
      else if (response.status === 400) setError((body as { error?: { message?: string } })?.error?.message ?? "Check the email address.");
      else setError("Vetline cannot be reached right now. Try again in a moment.");
    } catch {
      setError("Vetline cannot be reached right now. Try again in a moment.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand">
          <img src="/favicon.svg" alt="" /> Vetline
        </div>
        <h1 id="signin-title">Sign in to the console</h1>
        <p className="muted">For clinic staff.</p>
        {reason && !error && (
          <p className="alert info" role="status">
            {reason}
          </p>
        )}
        {error && (
          <p className="alert error" role="alert">
            {error}
          </p>
        )}
        <div className="field">
          <label htmlFor="email">Email</label>
          <input id="email" type="email" autoComplete="username" required value={email}
            onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input id="password" type="password" autoComplete="current-password" required value={password}
            onChange={(e) => setPassword(e.target.value)} />
        </div>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
