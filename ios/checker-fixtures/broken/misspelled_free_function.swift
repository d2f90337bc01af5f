// A misspelled generated free function.
// expect: unknown function `ffiPanicProb`; did you mean the generated `ffiPanicProbe`?
import Countersign

func probe() throws {
    try ffiPanicProb()
}
