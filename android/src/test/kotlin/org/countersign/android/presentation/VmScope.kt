package org.countersign.android.presentation

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel

/** Runs [block] with a scope like viewModelScope (but on Dispatchers.Default), cancelled afterwards. */
fun withVmScope(block: (CoroutineScope) -> Unit) {
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    try {
        block(scope)
    } finally {
        scope.cancel()
    }
}
