import { useCallback, useRef, useState } from "react";
import { ApiError, csrfHeader, currentCsrfToken, sentenceOf, type Schemas } from "../../api/client";

export type VolumeInfo = Schemas["VolumeInfo"];
export type UploadFormat = "qcow2" | "raw" | "iso";

/** The format a file's name suggests (what the user may still change before uploading). */
export function formatOfFile(fileName: string): UploadFormat {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".iso")) return "iso";
  if (lower.endsWith(".qcow2") || lower.endsWith(".qcow")) return "qcow2";
  return "raw";
}

/**
 * A volume name from a file's name: what Names.Check accepts (letters, digits, '.', '-', '_'),
 * without the image's extension (the pool's file gets the format's own).
 */
export function volumeNameOfFile(fileName: string): string {
  const base = fileName.replace(/\.(xz|gz)$/i, "").replace(/\.(qcow2?|raw|img|iso|ext[234])$/i, "");
  const cleaned = base.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (cleaned || "volume").slice(0, 63);
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * PUT /api/v1/pools/{pool}/volumes/{volume}/content?format=...: the file streamed as the request
 * body, the server writing it to disk as it comes and making the volume once it is whole
 * (StorageEndpoints.UploadAsync). XMLHttpRequest rather than fetch: it reports the upload's
 * progress, and abort() cancels it (the server then keeps nothing).
 */
export function uploadVolume(
  pool: string,
  volume: string,
  format: UploadFormat,
  file: Blob,
  onProgress: (progress: UploadProgress) => void,
  signal: AbortSignal,
): Promise<VolumeInfo> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    const path = `/api/v1/pools/${encodeURIComponent(pool)}/volumes/${encodeURIComponent(volume)}/content?format=${format}`;
    request.open("PUT", path);
    request.withCredentials = true;
    const token = currentCsrfToken();
    if (token) request.setRequestHeader(csrfHeader, token);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    request.onload = () => {
      let body: unknown = request.responseText;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // Not JSON: the text is the explanation, if any.
      }
      if (request.status >= 200 && request.status < 300) resolve(body as VolumeInfo);
      else reject(new ApiError(request.status, sentenceOf(request.status, body)));
    };
    request.onerror = () => reject(new ApiError(0, "The upload was cut off before the server answered; nothing was kept."));
    request.onabort = () => reject(new ApiError(0, "The upload was cancelled; nothing was kept."));
    signal.addEventListener("abort", () => request.abort(), { once: true });
    request.send(file);
  });
}

/** An upload with its progress, its Cancel and its sentence, for a page or a wizard step. */
export function useUpload() {
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);

  const start = useCallback(async (pool: string, volume: string, format: UploadFormat, file: Blob): Promise<VolumeInfo | null> => {
    controller.current = new AbortController();
    setError(null);
    setProgress({ loaded: 0, total: file.size });
    try {
      return await uploadVolume(pool, volume, format, file, setProgress, controller.current.signal);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return null;
    } finally {
      controller.current = null;
      setProgress(null);
    }
  }, []);

  const cancel = useCallback(() => controller.current?.abort(), []);
  return { progress, error, start, cancel, uploading: progress !== null };
}
