// Progress for commands that wait (doctor, time, telemetry flush): one updating line on
// stderr when it is a terminal ("asking 3 time sources… 2 answered"), nothing otherwise.

export interface Progress {
  update(text: string): void;
  /** Clears the line (call before printing the result). */
  done(): void;
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY !== true) return { update() {}, done() {} };
  const width = Math.max(20, (stream.columns || 80) - 1);
  let shown = false;
  return {
    update(text) {
      // eslint-disable-next-line no-control-regex -- control characters never reach the terminal
      const line = [...text.replace(/[\u0000-\u001f\u007f]/g, ' ')].slice(0, width).join('');
      stream.write(`\r\u001b[2K${line}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\u001b[2K');
      shown = false;
    },
  };
}
