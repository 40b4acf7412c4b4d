using Vessel.Server.Hosting;

// vessel serve as its own program (the vessel CLI runs the same code as `vessel serve`).
return ServerApplication.Run(args, Console.Error);
