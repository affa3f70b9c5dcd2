/** Progress output: a redrawn bar on a terminal, plain lines otherwise (logs, CI, pipes). */
export interface Progress {
  /** Reports a training step. */
  step(info: StepInfo): void;
  /** Prints a line above the bar. */
  log(line: string): void;
  /** Clears the bar. */
  done(): void;
}

export interface StepInfo {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  imagesPerSecond: number;
  /** Seconds left in the run. */
  eta: number;
}

/** `1:05`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function describeStep(info: StepInfo): string {
  return (
    `epoch ${info.epoch + 1}/${info.epochs} step ${info.step}/${info.steps} loss ${info.loss.toFixed(4)} ` +
    `${info.imagesPerSecond.toFixed(2)} img/s ETA ${formatDuration(info.eta)}`
  );
}

/** A progress reporter for `stream`: a bar if it is a TTY, otherwise one line every `everySteps` steps. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr, options: { everySteps?: number } = {}): Progress {
  const everySteps = options.everySteps ?? 10;
  if (!stream.isTTY) {
    return {
      step(info) {
        if (info.step === 1 || info.step % everySteps === 0 || info.step === info.steps) stream.write(`${describeStep(info)}\n`);
      },
      log(line) {
        stream.write(`${line}\n`);
      },
      done() {},
    };
  }
  let shown = false;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  return {
    step(info) {
      const columns = stream.columns ?? 100;
      const text = describeStep(info);
      const barWidth = Math.max(10, Math.min(30, columns - text.length - 4));
      const filled = Math.round((info.step / Math.max(1, info.steps)) * barWidth);
      clear();
      stream.write(`[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`.slice(0, columns - 1));
      shown = true;
    },
    log(line) {
      clear();
      stream.write(`${line}\n`);
    },
    done() {
      clear();
    },
  };
}
