// Android-only. Why this file exists: the view models in presentation/ are
// plain classes (JVM-tested) that take a CoroutineScope. These thin androidx
// ViewModels give them viewModelScope and survive configuration changes; no
// logic lives here.
package org.countersign.android.platform.viewmodel

import androidx.lifecycle.ViewModel
import androidx.lifecycle.ViewModelProvider
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import org.countersign.android.clipboard.ClipboardGuard
import org.countersign.android.presentation.AddAccountViewModel
import org.countersign.android.presentation.CodeListViewModel
import org.countersign.android.presentation.PasscodeViewModel
import org.countersign.android.presentation.UiText
import org.countersign.core.AuthenticatorInterface
import org.countersign.core.Clock

/** Holds a [CodeListViewModel]; stops its ticks when cleared. */
class CodeListScreenModel(
    authenticator: AuthenticatorInterface,
    clipboard: ClipboardGuard?,
    text: UiText,
) : ViewModel() {
    /** The screen logic. */
    val model = CodeListViewModel(authenticator, viewModelScope, clipboard, text)

    override fun onCleared() = model.stop()
}

/** Holds a [PasscodeViewModel]. */
class PasscodeScreenModel(authenticator: AuthenticatorInterface, clock: Clock, text: UiText) : ViewModel() {
    /** The screen logic. */
    val model = PasscodeViewModel(authenticator, viewModelScope, clock, text)
}

/** Holds an [AddAccountViewModel]. */
class AddAccountScreenModel(authenticator: AuthenticatorInterface, text: UiText) : ViewModel() {
    /** The screen logic. */
    val model = AddAccountViewModel(authenticator, viewModelScope, text)
}

/**
 * A factory for the three screen models, sharing one [authenticator]
 * (the app keeps a single `Authenticator` per vault) and [clock].
 */
fun countersignViewModelFactory(
    authenticator: AuthenticatorInterface,
    clock: Clock,
    clipboard: ClipboardGuard?,
    text: UiText = UiText(),
): ViewModelProvider.Factory = viewModelFactory {
    initializer { CodeListScreenModel(authenticator, clipboard, text) }
    initializer { PasscodeScreenModel(authenticator, clock, text) }
    initializer { AddAccountScreenModel(authenticator, text) }
}
