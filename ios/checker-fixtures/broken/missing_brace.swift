// A class whose closing brace is missing.
// expect: syntax error
import Countersign

final class FixedClock: Clock {
    func nowUnixS() -> Int64 {
        59
    }
