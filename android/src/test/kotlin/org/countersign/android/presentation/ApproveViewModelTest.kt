package org.countersign.android.presentation

import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.JvmSoftwareKeystore
import org.countersign.android.testing.TestServer
import org.countersign.android.testing.withVault
import org.countersign.core.DeviceRegistration
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The Approve screen against the real core and the real server on loopback (no mocks). */
class ApproveViewModelTest {
    private fun startSignIn(user: String): Pair<Int, String> {
        val (code, started) = TestServer.http(
            "POST", "/v1/signin/start", """{"username":"$user","password":"Correct-Horse-42"}""",
        )
        assertEquals(started, 200, code)
        return TestServer.jsonInt(started, "number")!! to TestServer.jsonString(started, "request_id")!!
    }

    @Test
    fun listTypeTheNumberApproveAndDeny() {
        val clock = FakeClock(System.currentTimeMillis() / 1000)
        withVault(clock = clock, keystore = JvmSoftwareKeystore()) { auth ->
            withVmScope { scope ->
                val user = TestServer.newUser("vm")
                runBlocking {
                    auth.enableBiometrics() // "screen lock after Approve" confirms through the keystore
                    auth.pairWithInvite(
                        TestServer.invite(user),
                        DeviceRegistration(name = "JVM phone", platform = "android", pushToken = null),
                    )
                }
                val vm = ApproveViewModel(auth, clock, scope)
                val watching = vm.start()
                val (number, requestId) = startSignIn(user)

                // The watcher (core) brings it in; the list shows who and where.
                val row = waitFor { vm.state.value.requests.firstOrNull() }
                assertEquals(requestId, row.requestId)
                assertEquals("Sign in to JVM NAS as $user", row.title)
                assertTrue(row.from, row.from.startsWith("KotlinTestBrowser"))
                assertEquals(3, row.triesLeft)
                assertTrue("${row.secondsLeft}", row.secondsLeft in 1..600)

                // Not two digits: refused before anything is sent.
                runBlocking { vm.approve(requestId, "1a").join() }
                assertEquals("Type the two digits the sign-in screen shows", vm.state.value.message)
                // A typo: the core refuses it and counts it; the request stays.
                val typo = if (number == 99) 98 else number + 1
                runBlocking { vm.approve(requestId, typo.toString()).join() }
                assertEquals("That is not the number on the sign-in screen. Try again (2 left)", vm.state.value.message)
                assertEquals(2, vm.state.value.requests.single().triesLeft)
                // The right number approves (screen lock through the keystore) and it leaves the list.
                runBlocking { vm.approve(requestId, "%02d".format(number)).join() }
                assertEquals("Approved", vm.state.value.message)
                assertTrue(vm.state.value.requests.isEmpty())
                // Answering it again: it is no longer waiting.
                runBlocking { vm.deny(requestId).join() }
                assertEquals("This sign-in is no longer waiting", vm.state.value.message)

                // A second sign-in, refused and reported.
                val (_, second) = startSignIn(user)
                runBlocking { vm.refresh().join() }
                assertEquals(second, vm.state.value.requests.single().requestId)
                runBlocking { vm.report(second).join() }
                assertEquals("Denied and reported", vm.state.value.message)
                assertTrue(vm.state.value.requests.isEmpty())
                watching.cancel()
            }
        }
    }

    private fun <T : Any> waitFor(seconds: Long = 20, probe: () -> T?): T {
        val deadline = System.nanoTime() + seconds * 1_000_000_000
        while (System.nanoTime() < deadline) {
            probe()?.let { return it }
            Thread.sleep(50)
        }
        throw AssertionError("nothing within $seconds s")
    }
}
