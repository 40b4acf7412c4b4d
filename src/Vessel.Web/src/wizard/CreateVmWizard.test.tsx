import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { InventoryProvider } from "../api/inventory";
import { CreateVmWizard } from "./CreateVmWizard";
import { checkMemory, checkName, MiB } from "./validation";

// No server here: the inventory's requests fail and its lists stay empty, which the wizard's
// first steps do not need.
function renderWizard() {
  return render(
    <InventoryProvider>
      <CreateVmWizard />
    </InventoryProvider>,
  );
}

function type(label: string, value: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

afterEach(cleanup);

describe("the create-VM wizard", () => {
  it("says the server's sentence under the name as the user types, and clears it once the name is right", () => {
    renderWizard();
    expect(screen.queryByRole("alert")).toBeNull();

    type("Name", "-web");
    const sentence = checkName("VM", "-web")!;
    expect(screen.getByRole("alert").textContent).toBe("A VM name must start with a letter or digit, and '-web' starts with '-'.");
    expect(screen.getByRole("alert").textContent).toBe(sentence);
    expect(screen.getByLabelText("Name").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByLabelText("Name").getAttribute("aria-describedby")).toBe(screen.getByRole("alert").id);

    type("Name", "my web");
    expect(screen.getByRole("alert").textContent).toBe("A VM name may hold only letters, digits, '.', '-' and '_', and 'my web' has ' '.");

    type("Name", "web1");
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("stays on a step with a wrong field, and goes on with Enter once it is right", () => {
    renderWizard();
    const form = screen.getByRole("heading", { name: "General" }).closest("form")!;
    fireEvent.submit(form);
    // An untouched empty name is only said once the user tries to go on.
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("General");
    expect(screen.getByRole("alert").textContent).toBe("A VM needs a name.");

    type("Name", "web1");
    fireEvent.submit(form);
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("Source");
    expect(document.activeElement).toBe(screen.getByRole("heading", { level: 2 }));
  });

  it("checks memory in MiB against the server's bounds in bytes", () => {
    renderWizard();
    type("Name", "web1");
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    type("Kernel", "/srv/Image");
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("System");

    type("Memory (MiB)", "8");
    expect(screen.getByRole("alert").textContent).toBe(checkMemory(8 * MiB));
    expect(screen.getByRole("alert").textContent).toBe("A VM needs at least 16 MiB of memory, and 8388608 bytes is less.");
    type("Memory (MiB)", "257");
    expect(screen.getByRole("alert").textContent).toBe("A VM's memory must be a multiple of 2 MiB, and 269484032 bytes is not.");
    type("Memory (MiB)", "512");
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
