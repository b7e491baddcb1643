package match

// RulesVersion numbers the matching rules: it is raised whenever a change
// to how components are matched with records can change the findings of a
// component nothing else changed for (a version read differently, a list
// or range compared differently). The portfolio analysis (project.Analyze)
// re-evaluates every project component once when the rules version it last
// analysed with is not this one, so that projects uploaded before an
// upgrade get what the new rules find without a re-upload or an advisory
// change.
//
//   - 1: a version outside its ecosystem's ordering is still matched
//     against the versions a record lists (it was reported as an error
//     only).
const RulesVersion = 1
