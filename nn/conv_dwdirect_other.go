//go:build !amd64 || purego

package nn

// dwDirectHave: no direct kernel in this build (dw3 keeps the padded copy).
var dwDirectHave = false

func dwDirectRun(a *dwDirectArgs, s int, pair, isMax bool) { panic("nn: no dwDirect kernel") }

func dwMultiRun(a *dwMultiArgs, s int) { panic("nn: no dwMulti kernel") }

func dwWinRun(a *dwWinArgs, s int) { panic("nn: no dwWin kernel") }
