import { useEffect, useRef, type KeyboardEvent, type RefObject } from "react";

const focusable = "[data-tree-focus]";

/**
 * The keyboard of a tree, as the ARIA tree pattern has it: one Tab stop for the whole tree (the
 * item last focused), ↑/↓ to the previous and next visible item, Home/End, → to open a closed
 * group, ← to close an open group or go up to the parent's group, Enter to open the item's page.
 */
export function useTreeKeyboard(): { ref: RefObject<HTMLElement | null>; onKeyDown: (e: KeyboardEvent) => void; onFocus: (e: React.FocusEvent) => void } {
  const ref = useRef<HTMLElement | null>(null);
  const current = useRef<HTMLElement | null>(null);

  // After every render: only the current item (or the first) is in the Tab order.
  useEffect(() => {
    const items = itemsOf(ref.current);
    const active = current.current && items.includes(current.current) ? current.current : items[0];
    for (const item of items) item.tabIndex = item === active ? 0 : -1;
  });

  function onFocus(e: React.FocusEvent) {
    const target = e.target as HTMLElement;
    if (!target.matches(focusable)) return;
    current.current = target;
    for (const item of itemsOf(ref.current)) item.tabIndex = item === target ? 0 : -1;
  }

  function onKeyDown(e: KeyboardEvent) {
    const items = itemsOf(ref.current);
    const index = items.indexOf(document.activeElement as HTMLElement);
    if (index < 0) return;
    const item = items[index]!;
    let next: HTMLElement | undefined;
    switch (e.key) {
      case "ArrowDown":
        next = items[Math.min(index + 1, items.length - 1)];
        break;
      case "ArrowUp":
        next = items[Math.max(index - 1, 0)];
        break;
      case "Home":
        next = items[0];
        break;
      case "End":
        next = items[items.length - 1];
        break;
      case "ArrowRight":
      case "ArrowLeft": {
        const expanded = item.getAttribute("aria-expanded");
        if (expanded !== null && (e.key === "ArrowRight") !== (expanded === "true")) {
          item.click();
        } else if (e.key === "ArrowLeft") {
          next = item.closest('[role="group"]')?.closest('[role="treeitem"]')?.querySelector<HTMLElement>(focusable) ?? undefined;
        }
        break;
      }
      default:
        return;
    }
    e.preventDefault();
    next?.focus();
  }

  return { ref, onKeyDown, onFocus };
}

function itemsOf(root: HTMLElement | null): HTMLElement[] {
  return root ? Array.from(root.querySelectorAll<HTMLElement>(focusable)) : [];
}
