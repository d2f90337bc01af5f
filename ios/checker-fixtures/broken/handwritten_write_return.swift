// The generated-code allowance `let writeReturn = { () }` is not granted
// to hand-written code.
// expect: syntax error
func f() {
    let writeReturn = { () }
    writeReturn()
}
