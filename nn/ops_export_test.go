package nn

// RaceEnabled tells the external tests (package nn_test) whether the race
// detector is on.
const RaceEnabled = raceEnabled

// WorkerIdle is how long idle package workers wait before exiting.
const WorkerIdle = workerIdle
