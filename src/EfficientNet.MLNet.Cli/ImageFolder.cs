using EfficientNet.MLNet.Datasets;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// A folder with one subfolder per class (the convention of Model Builder and Keras' image_dataset_from_directory).
/// Files that are not images are skipped and counted.
/// </summary>
internal sealed record ImageFolder(string Path, IReadOnlyList<LabeledImage> Images, IReadOnlyList<string> Classes, IReadOnlyList<string> Skipped)
{
    public static readonly string[] ImageExtensions = { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    public static bool IsImage(string path) => ImageExtensions.Contains(System.IO.Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Reads the folder; for training, at least two classes each with an image.</summary>
    public static ImageFolder Read(string path, bool forTraining)
    {
        if (!Directory.Exists(path))
            throw new CliInputException($"The data folder '{path}' does not exist. Give a folder with one subfolder of images per class.");
        var classFolders = Directory.GetDirectories(path).Order(StringComparer.Ordinal).ToList();
        if (classFolders.Count == 0)
            throw new CliInputException($"The data folder '{path}' has no subfolders. Put the images of each class in a subfolder named after the class.");
        var images = new List<LabeledImage>();
        var skipped = new List<string>();
        foreach (var folder in classFolders)
        {
            var label = System.IO.Path.GetFileName(folder);
            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            skipped.AddRange(files.Where(f => !IsImage(f)));
            var classImages = files.Where(IsImage).Select(f => new LabeledImage(System.IO.Path.GetFullPath(f), label)).ToList();
            if (forTraining && classImages.Count == 0)
                throw new CliInputException($"The class folder '{folder}' has no images ({string.Join(", ", ImageExtensions)}). Add images or remove the folder.");
            images.AddRange(classImages);
        }
        var classes = classFolders.Select(System.IO.Path.GetFileName).ToList();
        if (forTraining && classes.Count < 2)
            throw new CliInputException($"The data folder '{path}' has a single class ('{classes[0]}'); a classifier needs at least two class subfolders.");
        return new ImageFolder(path, images, classes!, skipped);
    }
}
