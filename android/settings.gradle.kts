// The Android shell of Countersign: one Android library module (this folder)
// that wraps the Rust core (UniFFI bindings + libcountersign_ffi.so).
// An app module (UI, google-services.json) consumes it; see README.md.

pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
    plugins {
        id("com.android.library") version "8.7.3"
        id("org.jetbrains.kotlin.android") version "2.4.20"
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "countersign-android"
