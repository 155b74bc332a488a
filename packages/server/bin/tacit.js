#!/usr/bin/env node
// The build (npm's `prepare` step) compiles src/ to dist/; this shim keeps the bin path stable.
import { runCli } from '../dist/cli/runCli.js'

process.exitCode = await runCli(process.argv.slice(2))
