package purl

import "strings"

// NuGet: pkg:nuget/Newtonsoft.Json@13.0.1 -> NuGet "Newtonsoft.Json".
//
// NuGet package IDs are case-insensitive, so names are compared lowercased.

const ecoNuGet = "NuGet"

var fromNuGet = simple(ecoNuGet)

func normalizeNuGet(name string) string { return strings.ToLower(name) }
