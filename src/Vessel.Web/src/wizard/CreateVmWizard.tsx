import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { api, call, type OperationInfo } from "../api/client";
import { curlCommand } from "../api/commands";
import { useInventory } from "../api/inventory";
import { powerAction } from "../api/vmActions";
import { ErrorLine } from "../components/ErrorLine";
import { ShowAsCommand } from "../components/ShowAsCommand";
import { useAsync } from "../components/useAsync";
import type { VolumeInfo } from "../pages/storage/upload";
import { navigate } from "../routes";
import { followOperation } from "./followOperation";
import { buildRequest, checkState, cliWords, createCall, errorsOfStep, fieldSteps, initialState, type FieldErrors, type WizardState } from "./request";
import { DisksStep, GeneralStep, NetworkStep, SourceStep, SystemStep } from "./steps";
import { stepOfRefusal, wizardSteps, type WizardStep } from "./validation";

/**
 * The create-VM wizard: General → Source → System → Disks → Network → Confirm. Each field says
 * what is wrong as the user types (the server's rules and sentences, validation.ts); Next goes
 * on only when the step is right; the final POST's refusal goes back to the step it concerns.
 * Creation is an operation, followed on the event stream, and ends on the VM's page.
 */
export function CreateVmWizard() {
  const inventory = useInventory();
  const [state, setState] = useState<WizardState>(initialState);
  const [step, setStep] = useState<WizardStep>("General");
  // Fields show their sentence once the user has changed them, or tried to go past their step.
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [refusal, setRefusal] = useState<{ step: WizardStep; sentence: string } | null>(null);
  const [operation, setOperation] = useState<OperationInfo | null>(null);
  const [phase, setPhase] = useState<"editing" | "creating" | "starting">("editing");
  const heading = useRef<HTMLHeadingElement>(null);
  const [uploaded, setUploaded] = useState<VolumeInfo[]>([]);

  const volumes = useAsync(async () => {
    const lists = await Promise.all(inventory.pools.map((p) => call(api.GET("/api/v1/pools/{pool}/volumes", { params: { path: { pool: p.name }, query: { pageSize: 1000 } } })).then((page) => page.items, () => [] as VolumeInfo[])));
    return lists.flat();
  }, [inventory.pools]);
  const allVolumes = useMemo(() => {
    const known = volumes.data ?? [];
    return [...known, ...uploaded.filter((u) => !known.some((k) => k.pool === u.pool && k.name === u.name))];
  }, [volumes.data, uploaded]);

  const networkKinds = useMemo(() => new Map(inventory.networks.map((n) => [n.name, n.kind])), [inventory.networks]);
  const errors = useMemo(() => checkState(state, { networkKinds }), [state, networkKinds]);
  const shown: FieldErrors = Object.fromEntries(Object.entries(errors).filter(([field]) => touched.has(field)));
  const index = wizardSteps.indexOf(step);

  useEffect(() => {
    heading.current?.focus();
  }, [step]);

  function update(change: Partial<WizardState>) {
    setState((s) => ({ ...s, ...change }));
    const next = new Set(touched);
    // A field is touched when its value changed (row fields by their row's key).
    for (const key of Object.keys(change)) {
      if (key === "memoryMiB") next.add("memory");
      else if (key === "disks") Object.keys(fieldSteps).filter((f) => f.startsWith("disk")).forEach((f) => next.add(f));
      else if (key === "nics") Object.keys(fieldSteps).filter((f) => f.startsWith("nic")).forEach((f) => next.add(f));
      else next.add(key);
    }
    // Row fields appear only once their rows do: mark the new ones too.
    for (const field of Object.keys(checkState({ ...state, ...change }, { networkKinds }))) {
      if ((field.startsWith("disk") && "disks" in change) || (field.startsWith("nic") && "nics" in change)) next.add(field);
    }
    setTouched(next);
    if (refusal) setRefusal(null);
  }

  function goTo(target: WizardStep) {
    setStep(target);
  }

  /** Next: shows the step's sentences and stays while there are any. */
  function next(e?: FormEvent) {
    e?.preventDefault();
    const wrong = errorsOfStep(errors, step);
    if (wrong.length > 0) {
      setTouched(new Set([...touched, ...wrong]));
      document.getElementById(idOfField(wrong[0]!))?.focus();
      return;
    }
    if (step === "Confirm") {
      void create();
      return;
    }
    goTo(wizardSteps[index + 1]!);
  }

  async function create() {
    // Every step again: a user may have come back and changed an earlier one.
    const firstWrong = wizardSteps.find((s) => errorsOfStep(errors, s).length > 0);
    if (firstWrong) {
      setTouched(new Set([...touched, ...Object.keys(errors)]));
      goTo(firstWrong);
      return;
    }
    setPhase("creating");
    setRefusal(null);
    try {
      const started = await call(api.POST("/api/v1/vms", { body: buildRequest(state) }));
      setOperation(started);
      const done = await followOperation(started, setOperation);
      if (done.status !== "succeeded") throw new Error(done.error ?? `Creating the VM ended ${done.status}.`);
      inventory.refresh();
      if (state.start) {
        setPhase("starting");
        const starting = (await powerAction(state.name, "start")) as OperationInfo;
        setOperation(starting);
        const started2 = await followOperation(starting, setOperation);
        if (started2.status !== "succeeded") {
          // The VM exists: its page shows it stopped, with the reason in the tasks panel.
          navigate({ page: "vm", name: state.name, tab: "tasks" });
          return;
        }
      }
      navigate({ page: "vm", name: state.name, tab: "summary" });
    } catch (e) {
      const sentence = e instanceof Error ? e.message : String(e);
      const target = stepOfRefusal(sentence);
      setRefusal({ step: target, sentence });
      setPhase("editing");
      setOperation(null);
      goTo(target);
    }
  }

  async function cancelCreation() {
    if (!operation) return;
    try {
      await call(api.DELETE("/api/v1/operations/{id}", { params: { path: { id: operation.id } } }));
    } catch (e) {
      setRefusal({ step: "Confirm", sentence: e instanceof Error ? e.message : String(e) });
    }
  }

  const busy = phase !== "editing";
  return (
    <section className="page wizard" aria-label="Create VM">
      <header className="page-header">
        <h1>Create VM</h1>
      </header>
      <nav aria-label="Wizard steps">
        <ol className="wizard-steps">
          {wizardSteps.map((s, i) => (
            <li key={s}>
              <button
                type="button"
                className={s === step ? "wizard-step current" : "wizard-step"}
                aria-current={s === step ? "step" : undefined}
                // Back to any step already passed; forward only through Next (its checks).
                disabled={busy || i > index}
                onClick={() => goTo(s)}
              >
                {i + 1}. {s}
                {errorsOfStep(Object.fromEntries(Object.entries(errors).filter(([f]) => touched.has(f))), s).length > 0 || refusal?.step === s ? " ⚠" : ""}
              </button>
            </li>
          ))}
        </ol>
      </nav>
      <form className="card wizard-body" onSubmit={next} noValidate aria-labelledby="wizard-step-heading">
        <h2 id="wizard-step-heading" ref={heading} tabIndex={-1}>
          {step}
        </h2>
        {refusal && refusal.step === step && <ErrorLine error={refusal.sentence} id="wizard-refusal" />}
        <fieldset disabled={busy} className="wizard-fields">
          {step === "General" && <GeneralStep state={state} update={update} errors={shown} pools={inventory.pools} />}
          {step === "Source" && <SourceStep state={state} update={update} errors={shown} templates={inventory.templates} volumes={allVolumes} onUploaded={(v) => setUploaded((list) => [...list, v])} />}
          {step === "System" && <SystemStep state={state} update={update} errors={shown} />}
          {step === "Disks" && <DisksStep state={state} update={update} errors={shown} volumes={allVolumes} />}
          {step === "Network" && <NetworkStep state={state} update={update} errors={shown} networks={inventory.networks} />}
          {step === "Confirm" && <ConfirmStep state={state} update={update} />}
        </fieldset>
        {operation && busy && (
          <div className="wizard-progress" role="status" aria-label={phase === "starting" ? "Starting the VM" : "Creating the VM"}>
            <progress max={100} value={Math.round((operation.progress ?? 0) * 100)} aria-label={phase === "starting" ? "Start progress" : "Creation progress"} />
            <span>
              {phase === "starting" ? "Starting" : "Creating"} {state.name}: {operation.status}
              {lastLine(operation)}
            </span>
            {operation.mayCancel && operation.status === "running" && (
              <button type="button" onClick={cancelCreation}>
                Cancel
              </button>
            )}
          </div>
        )}
        <div className="actions wizard-buttons">
          <button type="button" disabled={busy || index === 0} onClick={() => goTo(wizardSteps[index - 1]!)}>
            Back
          </button>
          {step === "Confirm" ? (
            <button type="submit" className="primary" disabled={busy}>
              {busy ? "Creating…" : "Create VM"}
            </button>
          ) : (
            <button type="submit" className="primary" disabled={busy}>
              Next
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function lastLine(operation: OperationInfo): string {
  const log = operation.log ?? [];
  return log.length > 0 ? ` — ${log[log.length - 1]}` : "";
}

function idOfField(field: string): string {
  const ids: Record<string, string> = {
    name: "vm-name",
    tags: "vm-tags",
    description: "vm-description",
    template: "vm-template",
    iso: "vm-iso",
    sourceVolume: "vm-source-volume",
    kernel: "vm-kernel",
    initrd: "vm-initrd",
    append: "vm-append",
    harts: "vm-harts",
    memory: "vm-memory",
    firmware: "vm-firmware",
  };
  return ids[field] ?? field.replace(".", "-");
}

function ConfirmStep({ state, update }: { state: WizardState; update: (change: Partial<WizardState>) => void }) {
  const request = buildRequest(state);
  const source =
    state.source === "template"
      ? `template ${state.template} (${state.cloneMode} clone)`
      : state.source === "kernel"
        ? `kernel ${state.kernel}${state.initrd ? ` with initrd ${state.initrd}` : ""}`
        : state.source === "iso"
          ? `ISO ${state.iso}`
          : `disk image ${state.sourceVolume}`;
  const disks = (request.disks ?? []).map((d) => (d.volume ? `${d.volume}${d.readOnly ? " (read-only)" : ""}` : `new ${Number(d.sizeBytes) / 1024 ** 3} GiB in ${d.pool ?? "default"}`));
  return (
    <>
      <dl className="facts" aria-label="Summary">
        <dt>Name</dt>
        <dd>{state.name}</dd>
        <dt>Tags</dt>
        <dd>{request.tags?.join(", ") || "none"}</dd>
        <dt>Source</dt>
        <dd>{source}</dd>
        {state.source === "kernel" && (
          <>
            <dt>Command line</dt>
            <dd>{state.append || "none"}</dd>
          </>
        )}
        <dt>System</dt>
        <dd>
          {state.harts} hart{state.harts === "1" ? "" : "s"}, {state.memoryMiB} MiB, firmware {state.source === "template" ? "of the template" : state.firmware}, {state.cpuEngine}, display {state.display}
        </dd>
        <dt>Disks</dt>
        <dd>{state.source === "template" ? "the template's" : disks.join("; ") || "none"}</dd>
        <dt>Network</dt>
        <dd>{state.nics.length === 0 ? "none" : state.nics.map((n) => `${n.network}${n.forwards.trim() ? ` (${n.forwards.trim()})` : ""}`).join("; ")}</dd>
      </dl>
      <label>
        <input type="checkbox" checked={state.start} onChange={(e) => update({ start: e.target.checked })} />
        Start after creation
      </label>
      <ShowAsCommand call={createCall(state)} cli={cliWords(state)} />
      {state.start && (
        <p className="muted wizard-then">
          then, once created: <code>{curlCommand({ method: "POST", path: `/api/v1/vms/${encodeURIComponent(state.name)}/start` })}</code>
        </p>
      )}
    </>
  );
}
