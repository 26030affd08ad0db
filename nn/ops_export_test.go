package nn

// RaceEnabled tells the external tests (package nn_test) whether the race
// detector is on.
const RaceEnabled = raceEnabled
