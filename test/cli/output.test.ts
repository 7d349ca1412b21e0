import { printable, renderTable } from '../../src/cli/output.js';

test('control characters from stored text are shown, not sent to the terminal', () => {
  expect(printable('ok\u001b]0;owned\u0007 \u009b2J')).toBe('ok\\x1b]0;owned\\x07 \\x9b2J');
  const table = renderTable(['reason'], [['move off cirrus \u001b[2J']]);
  expect(table).not.toContain('\u001b[2J');
  expect(table).toContain('move off cirrus \\x1b[2J');
});

test('plain text is unchanged', () => {
  expect(printable('hw_video_model=virtio (ticket #42)')).toBe('hw_video_model=virtio (ticket #42)');
});
