using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Vessel.Server.Inventory.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class VmDisplay : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Display",
                table: "Vms",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "none");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Display",
                table: "Vms");
        }
    }
}
