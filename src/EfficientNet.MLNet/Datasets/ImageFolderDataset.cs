namespace EfficientNet.MLNet.Datasets;

/// <summary>The images of a folder with one subfolder per class, and the files there that are not images.</summary>
/// <param name="Images">Every image, its class being the name of its subfolder (nested folders included), in path order.</param>
/// <param name="Classes">The subfolder names, in ordinal order, including any without images.</param>
/// <param name="SkippedFiles">Files that are not images (by extension).</param>
public sealed record ImageFolderContents(IReadOnlyList<LabeledImage> Images, IReadOnlyList<string> Classes, IReadOnlyList<string> SkippedFiles);

/// <summary>
/// Reads a folder with one subfolder of images per class, the convention of Model Builder and Keras'
/// image_dataset_from_directory.
/// </summary>
public static class ImageFolderDataset
{
    /// <summary>The file extensions read as images.</summary>
    public static IReadOnlyList<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    /// <summary>Whether the file's extension is an image's.</summary>
    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Lists the images of <paramref name="folder"/>'s class subfolders.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="EfficientNetException">The folder or one of its subfolders cannot be read (permissions); the message names it.</exception>
    public static ImageFolderContents Read(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"The image folder '{folder}' does not exist.");
        var classFolders = Readable(folder, folder, () => Directory.GetDirectories(folder).Order(StringComparer.Ordinal).ToList());
        var images = new List<LabeledImage>();
        var skipped = new List<string>();
        foreach (var classFolder in classFolders)
        {
            var label = Path.GetFileName(classFolder);
            var files = Readable(classFolder, folder, () => Directory.EnumerateFiles(classFolder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList());
            foreach (var file in files)
            {
                if (IsImage(file))
                    images.Add(new LabeledImage(Path.GetFullPath(file), label));
                else
                    skipped.Add(file);
            }
        }
        return new ImageFolderContents(images, classFolders.Select(f => Path.GetFileName(f)).ToList(), skipped);
    }

    static T Readable<T>(string directory, string root, Func<T> list)
    {
        try
        {
            return list();
        }
        catch (UnauthorizedAccessException e)
        {
            throw new EfficientNetException($"The folder '{directory}' (or a folder inside it) cannot be read: permission denied. Give the user running this read and execute permission (chmod -R u+rX '{directory}'), or move it out of '{root}'.", e);
        }
    }
}
