return EfficientNet.MLNet.Cli.EfficientNetCli.Run(args, Console.Out, Console.Error);
