// Package cors is Rotor's CORS policy: the headers of every answer, the
// preflight's answer, and the handler of the one function template.yaml
// sends every path's OPTIONS to. It imports nothing of Rotor, so that
// function links no flow, store or key code.
package cors
