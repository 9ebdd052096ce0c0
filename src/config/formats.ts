// A convict format for whole numbers within bounds, shared by the settings and the alerts group.
export function integerFormat(name: string, min: number, max: number, expected: string) {
  return {
    name,
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new Error(`expected ${expected}`);
      }
    },
    // Env values arrive as strings; Number() (unlike parseInt) turns '12abc' into NaN, which fails validation.
    coerce: (value: string) => (value.trim() === '' ? NaN : Number(value)),
  };
}
