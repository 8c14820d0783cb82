it('leaves a timer running', () => {
  setTimeout(() => undefined, 60_000);
});
