// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";

function render(markdown: string): HTMLElement {
  const container = document.createElement("div");
  container.innerHTML = renderMarkdown(markdown);
  return container;
}

describe("renderMarkdown", () => {
  it("renders GFM tables and task lists", () => {
    const html = render("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- [x] two\n");
    expect(html.querySelectorAll("table td")).toHaveLength(2);
    expect(html.querySelectorAll("li")).toHaveLength(2);
    expect(html.querySelector("input[type=checkbox]")).not.toBeNull();
  });

  it("opens links in a new tab without a referrer or opener", () => {
    const link = render("[docs](https://example.com/a)").querySelector("a");
    expect(link?.getAttribute("href")).toBe("https://example.com/a");
    expect(link?.getAttribute("target")).toBe("_blank");
    expect(link?.getAttribute("rel")).toBe("noopener noreferrer");
  });

  it("highlights code of a known language and adds a copy button", () => {
    const html = render("```python\nprint(1)\n```");
    expect(html.querySelector("code.language-python .hljs-built_in")?.textContent).toBe("print");
    expect(html.querySelector("button[data-copy]")?.getAttribute("aria-label")).toBe("Copy code");
    expect(html.querySelector("code")?.textContent).toBe("print(1)");
    expect(render("```nolang\n<b>x</b>\n```").querySelector("code")?.textContent).toBe("<b>x</b>");
  });

  it("removes scripts, handlers, styles and anything that would load from elsewhere", () => {
    const html = render(
      '<script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">a</a>' +
        '<span style="background:url(https://e.example/s)">s</span><svg><image href="https://e.example/i"/></svg>' +
        '<img src="https://e.example/i.png" onerror="x()">\n\n![pic](https://e.example/p.png)',
    );
    const out = html.innerHTML;
    expect(out).not.toMatch(/<script|onclick|onerror|javascript:|style=|<img|<svg|<image/);
    expect(html.querySelector('a[href="https://e.example/p.png"]')?.textContent).toBe("pic");
  });
});
