using Vessel.Cli;

// The `vessel` command: one entry point for running VMs and managing images. Every command
// reports a mistake of the user's as one sentence on stderr and a non-zero exit code: 2 for a
// wrong command line, 1 for a command that could not be carried out.
Vessel.Vmm.Hosting.StartupTimeline.Mark("main");
return CommandLineHost.Invoke(VesselCommand.CreateFor(args), args);
