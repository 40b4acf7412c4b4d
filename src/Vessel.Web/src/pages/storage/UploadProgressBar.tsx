import { formatBytes } from "../../components/format";
import type { UploadProgress } from "./upload";

/** An upload's progress (bytes sent of the file's size) with its Cancel button. */
export function UploadProgressBar({ progress, onCancel }: { progress: UploadProgress; onCancel: () => void }) {
  const percent = progress.total > 0 ? Math.floor((progress.loaded / progress.total) * 100) : 0;
  return (
    <span className="upload-progress">
      <progress max={100} value={percent} aria-label="Upload progress" />
      <span>
        {percent}% ({formatBytes(progress.loaded)} of {formatBytes(progress.total)})
      </span>
      <button type="button" onClick={onCancel}>
        Cancel upload
      </button>
    </span>
  );
}
