// The JVM test runner used by tools/kotlin-test.sh (no Gradle here): runs
// every *Test class with JUnit 4, prints failures with their stack traces,
// and ends with the line CI reads: `kotlin: N passed, N failed`.
package org.countersign.android

import java.io.File
import kotlin.system.exitProcess
import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener

/**
 * Runs the given test classes, or, with no arguments, every class named `*Test`
 * in the directory this runner was loaded from. Exit status 1 on any failure
 * (or if no test ran).
 */
object TestMain {
    @JvmStatic
    fun main(args: Array<String>) {
        val classes = if (args.isNotEmpty()) args.map { Class.forName(it) } else discover()
        if (classes.isEmpty()) {
            println("no test classes found")
            println("kotlin: 0 passed, 0 failed")
            exitProcess(1)
        }
        val core = JUnitCore()
        core.addListener(Progress())
        val result = core.run(*classes.toTypedArray())
        for ((i, f) in result.failures.withIndex()) {
            println()
            println("FAILURE ${i + 1}: ${f.testHeader}")
            println(f.trace.trimEnd())
        }
        val failed = result.failureCount
        val passed = result.runCount - failed
        println()
        println("kotlin: $passed passed, $failed failed")
        exitProcess(if (failed == 0 && result.runCount > 0) 0 else 1)
    }

    private fun discover(): List<Class<*>> {
        val root = File(TestMain::class.java.protectionDomain.codeSource.location.toURI())
        return root.walkTopDown()
            .filter { it.isFile && it.name.endsWith("Test.class") && '$' !in it.name }
            .map { it.relativeTo(root).path.removeSuffix(".class").replace(File.separatorChar, '.') }
            .sorted()
            .map { Class.forName(it) }
            .toList()
    }

    /** One line per test with its time, so a hang or a slow test shows where it is. */
    private class Progress : RunListener() {
        @Volatile private var failedCurrent = false

        @Volatile private var startedAt = 0L

        override fun testStarted(description: Description) {
            failedCurrent = false
            startedAt = System.nanoTime()
        }

        override fun testFailure(failure: Failure) {
            failedCurrent = true
        }

        override fun testFinished(description: Description) {
            val mark = if (failedCurrent) "FAIL" else "ok  "
            val ms = (System.nanoTime() - startedAt) / 1_000_000
            println("$mark ${description.className.substringAfterLast('.')}.${description.methodName} (${ms} ms)")
        }
    }
}
