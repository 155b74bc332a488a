/**
 * ISO 13616 IBAN check: move the first four characters to the end, letters become 10..35, and the number
 * must be 1 mod 97. Computed piecewise so no big integers are needed.
 */
export function passesMod97(iban: string): boolean {
  if (iban.length < 15 || iban.length > 34) return false
  const rearranged = iban.slice(4) + iban.slice(0, 4)
  let remainder = 0
  for (let i = 0; i < rearranged.length; i++) {
    const code = rearranged.charCodeAt(i)
    if (code >= 48 && code <= 57) remainder = (remainder * 10 + (code - 48)) % 97
    else if (code >= 65 && code <= 90) remainder = (remainder * 100 + (code - 55)) % 97
    else return false
  }
  return remainder === 1
}
