// A portal page that stands alone (booking, a manage link, a join link, a bad link): the
// brand bar and one titled column. `page` picks the column's width and spacing.
import type { ReactNode } from "react";

export function PageShell({ title, page = "book-page", children }: {
  title: string; page?: "book-page" | "call-page"; children: ReactNode;
}) {
  return (
    <>
      <header className="topbar">
        <div className="brand"><img src="/favicon.svg" alt="" /><span>Vetline</span></div>
      </header>
      <main className="scroll">
        <div className={page}>
          <h1>{title}</h1>
          {children}
        </div>
      </main>
    </>
  );
}
