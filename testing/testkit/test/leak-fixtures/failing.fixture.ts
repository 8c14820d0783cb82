it('fails, and leaves a timer behind as a consequence', () => {
  setTimeout(() => undefined, 60_000);
  expect('the real failure').toBe('what jest must show');
});
