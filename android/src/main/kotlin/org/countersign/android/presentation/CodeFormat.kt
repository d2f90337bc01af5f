// Why this file exists: codes are read aloud and typed from the screen, so
// they are shown in two groups ("123 456"); the grouping rule lives in one
// place, tested, instead of in each screen.
package org.countersign.android.presentation

/**
 * Splits a numeric code in two halves for reading: `123456` → `123 456`,
 * `12345678` → `1234 5678`, `1234567` → `123 4567`. Codes shorter than 6 or not
 * all digits (Steam's 5 letters) are returned unchanged.
 */
fun formatCode(code: String): String {
    if (code.length < 6 || !code.all { it in '0'..'9' }) return code
    val half = code.length / 2
    return code.substring(0, half) + " " + code.substring(half)
}
