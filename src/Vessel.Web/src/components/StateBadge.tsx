/** A VM's or an operation's state, with a colour and the word (never colour alone). */
export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`state state-${state}`} data-state={state}>
      {state}
    </span>
  );
}
