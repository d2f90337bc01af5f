// FFI cost from Kotlin (run by tools/kotlin-bench.sh against the release
// library; not part of the test run). The Rust side of the comparison is
// bindings/benches/ffi.rs: the same calls without the FFI.
package org.countersign.android.bench

import java.io.File
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.FakeClock
import org.countersign.core.Authenticator
import org.countersign.core.softwareKeystore

object FfiBench {
    private const val ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

    /** A distinct Base32 secret per index (16 symbols = 80 bits). */
    private fun secret(i: Int): String {
        val sb = StringBuilder("JBSWY3DPEHPK")
        var n = i
        repeat(4) {
            sb.append(ALPHABET[n % 32])
            n /= 32
        }
        return sb.toString()
    }

    /** Median of [rounds] rounds of [iterations] calls, in nanoseconds per call. */
    private inline fun measure(rounds: Int, iterations: Int, body: () -> Unit): Double {
        val perCall = DoubleArray(rounds) {
            val t = System.nanoTime()
            repeat(iterations) { body() }
            (System.nanoTime() - t).toDouble() / iterations
        }
        perCall.sort()
        return perCall[rounds / 2]
    }

    @JvmStatic
    fun main(args: Array<String>) {
        val dir = Files.createTempDirectory("countersign-bench").toFile()
        try {
            val ks = softwareKeystore(File(dir, "keys").path)
            Authenticator.open(File(dir, "vault.db").path, ks, FakeClock(1_700_000_000)).use { auth ->
                runBlocking { auth.unlock(null) }
                for (i in 0 until 500) {
                    auth.addUri("otpauth://totp/Issuer$i:user$i?secret=${secret(i)}")
                }
                var sink = 0L
                // Warm up the JIT and JNA.
                repeat(50_000) { if (auth.isLocked()) sink++ }
                repeat(500) { sink += auth.codesAt(1_700_000_000L).size }
                val oneCall = measure(11, 100_000) { if (auth.isLocked()) sink++ }
                val codes500 = measure(11, 500) { sink += auth.codesAt(1_700_000_000L).size }
                println("| Kotlin → FFI: `isLocked()` (one call, no arguments) | ${"%.0f".format(oneCall)} ns |")
                println("| Kotlin → FFI: `codesAt(t)`, 500 profiles | ${"%.1f".format(codes500 / 1000)} µs |")
                if (sink == -1L) println(sink)
            }
        } finally {
            dir.deleteRecursively()
        }
    }
}
