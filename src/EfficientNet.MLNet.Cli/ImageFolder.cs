using EfficientNet.MLNet.Datasets;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// The CLI's data folder: <see cref="ImageFolderDataset"/> with the checks that turn a bad folder into a clear error
/// (exit code 2). Files that are not images are skipped and counted.
/// </summary>
internal sealed record ImageFolder(string Path, IReadOnlyList<LabeledImage> Images, IReadOnlyList<string> Classes, IReadOnlyList<string> Skipped)
{
    /// <summary>Reads the folder; for training, at least two classes each with an image.</summary>
    public static ImageFolder Read(string path, bool forTraining)
    {
        if (!Directory.Exists(path))
            throw new CliInputException($"The data folder '{path}' does not exist. Give a folder with one subfolder of images per class.");
        ImageFolderContents contents;
        try
        {
            contents = ImageFolderDataset.Read(path);
        }
        catch (EfficientNetException e)
        {
            throw new CliInputException(e.Message);
        }
        if (contents.Classes.Count == 0)
            throw new CliInputException($"The data folder '{path}' has no subfolders. Put the images of each class in a subfolder named after the class.");
        if (forTraining)
        {
            var empty = contents.Classes.FirstOrDefault(c => contents.Images.All(i => i.Label != c));
            if (empty is not null)
                throw new CliInputException($"The class folder '{System.IO.Path.Combine(path, empty)}' has no images ({string.Join(", ", ImageFolderDataset.Extensions)}). Add images or remove the folder.");
            if (contents.Classes.Count < 2)
                throw new CliInputException($"The data folder '{path}' has a single class ('{contents.Classes[0]}'); a classifier needs at least two class subfolders.");
        }
        return new ImageFolder(path, contents.Images, contents.Classes, contents.SkippedFiles);
    }
}
