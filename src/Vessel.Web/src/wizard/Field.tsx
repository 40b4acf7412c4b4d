import type { ReactNode } from "react";
import { ErrorLine } from "../components/ErrorLine";

/**
 * A labelled field with its sentence right under it; the control is named by the label and
 * described by the sentence (aria-describedby), and marked invalid while there is one.
 */
export function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string | null; hint?: string; children: (props: FieldControlProps) => ReactNode }) {
  const errorId = `${id}-error`;
  return (
    <div className="wizard-field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": error ? errorId : undefined })}
      {hint && !error && <span className="muted wizard-hint">{hint}</span>}
      <ErrorLine error={error} id={errorId} />
    </div>
  );
}

export interface FieldControlProps {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}
