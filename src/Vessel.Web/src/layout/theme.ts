import { useEffect, useState } from "react";

export type Theme = "light" | "dark";

/** The light or the dark theme: the system's preference until the user picks one (kept in this browser). */
export function useTheme(): [Theme, (theme: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => {
    const saved = localStorage.getItem("vessel-theme");
    if (saved === "light" || saved === "dark") return saved;
    return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  });
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return [
    theme,
    (next) => {
      localStorage.setItem("vessel-theme", next);
      setTheme(next);
    },
  ];
}
